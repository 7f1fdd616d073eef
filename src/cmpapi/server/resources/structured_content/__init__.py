"""Structured content: content types and their versions, contents (library assets of type
``structured_content`` or a task's), their field values and validation. Start with
``tables.py``; ``definitions.py`` / ``validation.py`` check definitions and values;
``types.py`` and ``contents.py`` are the services; ``mapping.py`` the wire models."""
