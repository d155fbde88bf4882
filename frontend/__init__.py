"""Static files of the Feature maps panel.

A Python package only so that wheels ship these files and the plugin can
find them with importlib.resources; nothing here is imported at run time.
"""
