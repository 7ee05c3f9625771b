"""Signing in to the browser app: server-side sessions behind an HttpOnly cookie, CSRF tokens,
login rate limits and password changes (docs/web-api.md, "Sign-in")."""
