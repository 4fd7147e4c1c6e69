"""Password strength: long enough and not guessable, judged by zxcvbn (Dropbox's estimator).

zxcvbn knows the common-password lists, dictionary words, names, keyboard walks, repeats and
dates, so `12345678`, `password` and eight spaces are refused for what they are. The score
threshold 3 means "about 10^10 guesses", far beyond what sign-in throttling lets through.
"""
from __future__ import annotations

import secrets

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MIN_SCORE = 3  # zxcvbn scores 0..4
MAX_LENGTH = 256  # zxcvbn's time grows with length; argon2 does not need more


def password_problem(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Return why a password is refused, in plain words, or None when it is strong enough."""
    if len(password) > MAX_LENGTH:
        return f"A password may have at most {MAX_LENGTH} characters"
    result = zxcvbn(password, user_inputs=[u for u in user_inputs if u] + ["caseflow"])
    warning = (result["feedback"].get("warning") or "").rstrip(".")
    warning = warning[:1].lower() + warning[1:]
    if len(password) < MIN_LENGTH:
        also = f"; {warning}" if warning else ""
        has = len(password)
        return f"A password needs at least {MIN_LENGTH} characters (this one has {has}){also}"
    if not password.strip():
        return "A password cannot be only spaces"
    if result["score"] >= MIN_SCORE:
        return None
    if not warning:
        named = any(len(u) >= 3 and u.lower() in password.lower() for u in user_inputs)
        warning = "it contains the username or name" if named else "it follows a common pattern"
    hint = " ".join(result["feedback"].get("suggestions") or []) or "Use a few uncommon words."
    return f"That password is too easy to guess: {warning}. {hint}"


def generate_password() -> str:
    """Return a random password that passes password_problem (for demo users)."""
    while True:
        password = secrets.token_urlsafe(12)
        if password_problem(password) is None:
            return password
