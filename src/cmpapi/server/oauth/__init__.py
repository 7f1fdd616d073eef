"""The OAuth2 authorization server at /o/oauth2/v1/{auth,token,userinfo,revoke}."""
