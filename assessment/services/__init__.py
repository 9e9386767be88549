"""Use cases of the application, between the views and the domain."""
