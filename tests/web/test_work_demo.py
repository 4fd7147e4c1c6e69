"""The demo cases `caseflow demo` opens: through the real services, once, on the demo agent's teams."""
from __future__ import annotations

from sqlmodel import Session, select

from cases.case_models import Case
from cases.cli import DEMO_USERS
from cases.db import make_engine
from cases.definitions import deploy_directory
from cases.demo_cases import DEMO_CASES, seed_demo_cases
from cases.users import create_user
from cases.worklist import worklist_count
from engine.metadata import read_metadata
from engine.xmlsafe import parse_bpmn_xml
from tests.conftest import BPMN_DIR, T0, fresh_sqlite


def test_demo_agents_teams_cover_every_lane_of_the_shipped_processes():
    teams = {t for _, _, _, user_teams in DEMO_USERS for t in user_teams}
    for path in BPMN_DIR.glob("*.bpmn"):
        metadata = read_metadata(parse_bpmn_xml(path.read_bytes(), path.name))
        for process in metadata.processes:
            for lane in process.lanes:
                assert " ".join(lane.split()) in teams, f"{path.name}: nobody works lane {lane!r}"


def test_demo_cases_open_once_and_land_on_the_demo_agents_worklist(tmp_path):
    url = fresh_sqlite(tmp_path / 'demo.sqlite3')
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        deploy_directory(s, BPMN_DIR, actor="demo", now=T0)
        username, role, name, teams = DEMO_USERS[0]
        agent = create_user(s, username=username, password="demo-passphrase-42", role=role, now=T0,
                            display_name=name, teams=teams)
        s.commit()
        opened = seed_demo_cases(s, now=T0)
        assert len(opened) == len(DEMO_CASES)
        assert seed_demo_cases(s, now=T0) == [], "running the demo again adds nothing"
        assert len(s.exec(select(Case)).all()) == len(DEMO_CASES)
        assert worklist_count(s, actor=agent, now=T0, view="team") == len(DEMO_CASES)
    engine.dispose()
