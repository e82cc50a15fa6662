"""The browser viewer: a viser shell over viewer sessions, one per browser tab (``k4d-viewer serve``)."""
