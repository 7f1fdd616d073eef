"""Uploader: presigned upload forms and multipart uploads (tag "Uploader")."""
