"""A product backend with its own users and password check that adds MFA and session management through the MFA
service's service API (see ../README.md)."""
