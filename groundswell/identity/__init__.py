"""Company sign-in: an OpenID Connect identity provider (Keycloak, Entra ID, Okta ...).

``settings`` reads its configuration from the environment, ``keys`` fetches the provider's
discovery document and signing keys, ``tokens`` validates the access tokens it issues.
May import domain/ only.
"""
