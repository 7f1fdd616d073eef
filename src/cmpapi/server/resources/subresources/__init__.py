"""Sub-resources every parent resource declares instead of copying: comments (with replies
and files), attachments (files and links), a brief, and field values.

A parent (tasks, campaigns, work requests, events) describes itself once with a
``Parent`` (``parent.py``): its kind (the ``owner_type`` stored on every sub-resource
row), its collection path, how a caller loads it for reading or writing, and the webhook
events its sub-resources fire. Each parent's routes module then has one explicit route
function per operation that calls the shared service here with that declaration.
"""
