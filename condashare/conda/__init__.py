"""How conda itself reads its configuration: search path, merge rules, effective dirs, edits."""
