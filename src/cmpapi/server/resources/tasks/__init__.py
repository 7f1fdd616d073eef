"""Tasks (tags "Tasks", "Task Step"): tasks made from workflows, their steps and sub-steps,
external work, comments, assets and drafts."""
