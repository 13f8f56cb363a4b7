"""One module per generated artifact. Each turns the internal model into plain data (dicts,
lists, strings) keyed by output path; none of them reads or writes files."""
