"""The learning loop: its tables, services and the Celery jobs. ("task" means only a
background job where it is used at all; the thing to label is an Item.)"""
