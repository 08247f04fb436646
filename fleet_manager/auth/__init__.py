"""Accounts, roles and tokens: argon2 passwords, JWT access and refresh tokens, role and site checks."""
