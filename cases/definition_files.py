"""Decision tables and Camunda forms uploaded with a process or on their own (service layer).

- Files are told apart by their ending: .bpmn (or .xml), .dmn, .form. Every file of an upload is
  checked before anything is stored; one error anywhere stores nothing.
- A .dmn or .form file on its own becomes a new version of its decisions or form. Every process
  whose newest version uses one of them gets a new draft version compiled with the new file, which
  the designer compares and deploys like any redesign: running cases keep the version (and so the
  table and form) they started with.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from engine import dmn_store, store
from engine.definitions import resources_used
from engine.dmn import Decision, decision_ids, dmn_problems, read_decisions
from engine.dmn_store import DefinitionFile, ModelFile
from engine.errors import InvalidBpmn, Problem
from engine.formjs import FormFile, FormFileInvalid, FormLibrary, formjs_form, read_form_file
from engine.store import DefinitionVersion

from .errors import NotFound

BPMN_ENDINGS = (".bpmn", ".xml", ".bpmn20.xml")
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "bpmn"


@dataclass
class Library:
    """The decision and form versions a deployment may use, by (kind, key)."""

    rows: dict[tuple[str, str], ModelFile] = field(default_factory=dict)

    @classmethod
    def stored(cls, session: Session) -> Library:
        """The newest stored versions, and the shipped decision tables not stored yet."""
        rows = {("dmn", k): r for k, r in shipped_decisions().items()}
        rows.update({("dmn", k): r for k, r in dmn_store.latest_files(session, "dmn").items()})
        rows.update({("form", k): r for k, r in dmn_store.latest_files(session, "form").items()})
        return cls(rows)

    def persist(self, session: Session, rows: list[ModelFile], *, actor: str | None,
                now: datetime) -> list[ModelFile]:
        """Store the rows not stored yet (shipped tables on first use); return stored rows."""
        stored = []
        for row in rows:
            if row.id is None:
                row = dmn_store.store_file(session, row.kind, row.key, row.content.encode("utf-8"),
                                           filename=row.filename, uploaded_by=actor, now=now)
                self.rows[(row.kind, row.key)] = row
            stored.append(row)
        return stored

    def add(self, files: Iterable[ModelFile]) -> None:
        self.rows.update({(f.kind, f.key): f for f in files})

    @property
    def decisions(self) -> dict[str, bytes]:
        return {key: row.content.encode("utf-8") for (kind, key), row in self.rows.items()
                if kind == "dmn"}

    @property
    def forms(self) -> FormLibrary:
        return FormLibrary.of(FormFile(key, row.filename, row.content)
                              for (kind, key), row in self.rows.items() if kind == "form")

    def used_by(self, data: bytes, filename: str) -> list[ModelFile]:
        """The stored rows of the decisions and forms a BPMN file uses."""
        decisions, forms = resources_used(data, filename, self.forms)
        return ([self.rows[("dmn", d)] for d in decisions if ("dmn", d) in self.rows]
                + [self.rows[("form", f)] for f in forms if ("form", f) in self.rows])


def shipped_decisions(directory: Path = SHIPPED_DIR) -> dict[str, ModelFile]:
    """Decision id -> an unsaved row for each decision of the shipped bpmn/*.dmn files.

    Decision: the shipped tables are part of the product, like the shipped processes; a shipped
    process deploys without uploading its table first, and the first deployment that uses a
    table stores it as its version 1 (pinned like any other).
    """
    found = {}
    for path in sorted(directory.glob("*.dmn")):
        data = path.read_bytes()
        for decision in decision_ids(data, path.name):
            found[decision] = ModelFile(kind="dmn", key=decision, version=0, filename=path.name,
                                        content=data.decode("utf-8"), content_hash="")
    return found


def kind_of(filename: str) -> str | None:
    """Return 'bpmn', 'dmn' or 'form' by the file's ending (None for anything else)."""
    lower = filename.lower()
    if lower.endswith(".dmn"):
        return "dmn"
    if lower.endswith(".form"):
        return "form"
    if lower.endswith(BPMN_ENDINGS):
        return "bpmn"
    return None


def supporting_problems(files: list[tuple[str, bytes]]) -> list[Problem]:
    """Check .dmn and .form files; every problem names its file."""
    problems, seen = [], {}
    for filename, data in files:
        kind = kind_of(filename)
        if kind == "dmn":
            found = dmn_problems(data, filename)
            problems += [_in_file(p, filename) for p in found if p.severity == "error"]
            if not any(p.severity == "error" for p in found):
                for decision in decision_ids(data, filename):
                    if seen.setdefault(("dmn", decision), filename) != filename:
                        problems.append(Problem(f"{filename}: the decision id '{decision}' is "
                                                f"also in {seen[('dmn', decision)]}; give each "
                                                "decision its own id.", element_id=decision))
        elif kind == "form":
            try:
                form = read_form_file(data, filename)
            except FormFileInvalid as err:
                problems.append(Problem(str(err)))
                continue
            if seen.setdefault(("form", form.id), filename) != filename:
                problems.append(Problem(f"{filename}: the form id '{form.id}' is also in "
                                        f"{seen[('form', form.id)]}; give each form its own id."))
    return problems


def _in_file(problem: Problem, filename: str) -> Problem:
    if problem.message.startswith(filename):
        return problem
    return Problem(f"{filename}: {problem.message}", problem.element_id, problem.element_name,
                   problem.line, problem.severity)


def store_supporting_files(session: Session, files: list[tuple[str, bytes]], *,
                           actor: str | None, now: datetime) -> list[Problem]:
    """Check and store .dmn and .form files as versions (no commit); return the errors instead
    when there are any (then nothing is stored)."""
    problems = supporting_problems(files)
    if not problems:
        _store(session, files, actor=actor, now=now)
    return problems


def _store(session: Session, files, *, actor, now) -> list[ModelFile]:
    rows = []
    for filename, data in files:
        if kind_of(filename) == "dmn":
            rows += dmn_store.store_dmn(session, data, filename=filename, uploaded_by=actor, now=now)
        elif kind_of(filename) == "form":
            form = read_form_file(data, filename)
            rows.append(dmn_store.store_file(session, "form", form.id, data, filename=filename,
                                             uploaded_by=actor, now=now))
    return rows


@dataclass(frozen=True)
class SetResult:
    """What an upload of several files did: refused with problems, or stored."""

    problems: list
    warnings: list
    versions: list[DefinitionVersion]
    new: list[bool]
    files: list[ModelFile]

    @property
    def stored(self) -> bool:
        return not self.problems and bool(self.versions or self.files)


def upload_set(session: Session, files: list[tuple[str, bytes]], *, actor: str, now: datetime,
               max_bytes: int | None = None) -> SetResult:
    """Check every file of an upload together and store them (processes as drafts); commit once."""
    from .definitions import _deploy, upload_problems

    unknown = [name for name, _ in files if kind_of(name) is None]
    if unknown:
        return SetResult([Problem(f"{name}: Caseflow takes .bpmn, .dmn and .form files; this one "
                                  "is none of them.") for name in unknown], [], [], [], [])
    supporting = [(n, d) for n, d in files if kind_of(n) != "bpmn"]
    problems = supporting_problems(supporting)
    if problems:
        return SetResult(problems, [], [], [], [])
    library = Library.stored(session)
    library.add(_unsaved_rows(supporting))
    warnings, bpmn = [], [(n, d) for n, d in files if kind_of(n) == "bpmn"]
    for filename, data in bpmn:
        found, warned = upload_problems(session, data, filename=filename, max_bytes=max_bytes,
                                        library=library)
        problems += [_in_file(p, filename) if len(bpmn) > 1 else p for p in found]
        warnings += [_in_file(p, filename) if len(bpmn) > 1 else p for p in warned]
    if problems:
        return SetResult(problems, warnings, [], [], [])
    stored = _store(session, supporting, actor=actor, now=now)
    library.add(stored)
    versions, new = [], []
    try:
        targets = bpmn or _users_of(session, stored)
        for filename, data in targets:
            result = _deploy(session, data, filename=filename, actor=actor, now=now,
                             activate=False, library=library)
            versions += result.versions
            new += result.new
    except InvalidBpmn as err:
        session.rollback()
        return SetResult(list(err.problems), warnings, [], [], [])
    session.commit()
    return SetResult([], warnings, versions, new, stored)


def _unsaved_rows(files) -> list[ModelFile]:
    """Rows for the upload's own files, so checks see them before anything is stored."""
    rows = []
    for filename, data in files:
        if kind_of(filename) == "dmn":
            rows += [ModelFile(kind="dmn", key=d, version=0, filename=filename,
                               content=data.decode("utf-8"), content_hash="")
                     for d in decision_ids(data, filename)]
        else:
            form = read_form_file(data, filename)
            rows.append(ModelFile(kind="form", key=form.id, version=0, filename=filename,
                                  content=form.text, content_hash=""))
    return rows


def _users_of(session: Session, stored: list[ModelFile]) -> list[tuple[str, bytes]]:
    """The BPMN of the newest version of every process that uses one of these decisions or
    forms (in an older version), to compile again with them."""
    targets: dict[str, DefinitionVersion] = {}
    for row in stored:
        for definition_id in dmn_store.definitions_using(session, row.kind, row.key):
            version = session.get(DefinitionVersion, definition_id)
            latest = session.exec(select(DefinitionVersion).where(
                DefinitionVersion.process_id == version.process_id)
                .order_by(DefinitionVersion.version.desc())).first()
            targets[latest.filename] = latest
    return [(v.filename, v.bpmn_xml.encode("utf-8")) for v in targets.values()]


def version_decisions(session: Session, definition_id: int) -> list[tuple[ModelFile, Decision]]:
    """The decision tables a process version uses, as pinned, for display."""
    found = []
    for row in dmn_store.pinned_files(session, definition_id):
        if row.kind != "dmn":
            continue
        for decision in read_decisions(row.content.encode("utf-8"), row.filename):
            if decision.id == row.key:
                found.append((row, decision))
    return found


def pinned_files(session: Session, definition_id: int) -> list[ModelFile]:
    """The decision and form versions a process version uses, decisions first."""
    return dmn_store.pinned_files(session, definition_id)


@dataclass(frozen=True)
class FileChange:
    """A decision table or form that two process versions use in different versions."""

    kind: str
    key: str
    before: ModelFile | None
    after: ModelFile | None


def file_changes(session: Session, left_id: int, right_id: int) -> list[FileChange]:
    """The decision tables and forms whose pinned versions differ between two process versions."""
    left = {(f.kind, f.key): f for f in dmn_store.pinned_files(session, left_id)}
    right = {(f.kind, f.key): f for f in dmn_store.pinned_files(session, right_id)}
    changes = []
    for kind, key in sorted(left.keys() | right.keys()):
        before, after = left.get((kind, key)), right.get((kind, key))
        if before is None or after is None or before.id != after.id:
            changes.append(FileChange(kind, key, before, after))
    return changes


def step_forms(version: DefinitionVersion) -> dict:
    """Element id -> the form each step shows (formData or a Camunda form), as compiled."""
    return dict(store.compiled(version).forms)


def start_form_of(version: DefinitionVersion):
    """The form whoever opens a case of this version fills in (None without one)."""
    return store.compiled(version).start_form


@dataclass(frozen=True)
class FilePage:
    """One stored decision or form version, for its read-only page."""

    file: ModelFile
    decision: Decision | None  # kind dmn: the decision this row stands for
    form_fields: list  # kind form: the fields Caseflow shows (engine.forms.FormField)
    left_out: list[str]  # kind form: what of the form Caseflow does not show
    versions: list[ModelFile]  # every version of the same decision or form
    used_by: list[DefinitionVersion]  # process versions pinned to this version


def file_page(session: Session, file_id: int) -> FilePage:
    """Everything the page of one decision or form version shows; raise NotFound."""
    row = session.get(ModelFile, file_id)
    if row is None:
        raise NotFound(f"No decision table or form {file_id}")
    decision, fields, left_out = None, [], []
    if row.kind == "dmn":
        decision = next((d for d in read_decisions(row.content.encode("utf-8"), row.filename)
                         if d.id == row.key), None)
    else:
        form, left_out = formjs_form(row.content)
        fields = list(form.fields) if form else []
    versions = list(session.exec(select(ModelFile).where(
        ModelFile.kind == row.kind, ModelFile.key == row.key).order_by(ModelFile.version)).all())
    used_by = list(session.exec(select(DefinitionVersion).join(
        DefinitionFile, DefinitionFile.definition_id == DefinitionVersion.id).where(
        DefinitionFile.model_file_id == row.id).order_by(DefinitionVersion.process_id,
                                                         DefinitionVersion.version)).all())
    return FilePage(row, decision, fields, left_out, versions, used_by)


__all__ = ["FileChange", "FilePage", "Library", "SetResult", "file_changes", "file_page", "kind_of", "pinned_files", "start_form_of", "step_forms", "store_supporting_files",
           "supporting_problems", "upload_set", "version_decisions"]
