"""Writes of the annotation domain, one module per topic; views, commands and jobs call these."""
