"""OAuth2 endpoints (placeholder until the authorization server lands)."""

from fastapi import APIRouter

router = APIRouter(prefix="/o/oauth2/v1", include_in_schema=False)
