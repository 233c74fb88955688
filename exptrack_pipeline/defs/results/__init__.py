"""The statistics assets: experiment, retention and segment results."""
