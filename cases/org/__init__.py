"""The county's organisation: places and agencies, where a matter goes, users and roles."""
