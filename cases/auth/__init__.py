"""Signing in: password strength, server-side sessions and sign-in throttling."""
