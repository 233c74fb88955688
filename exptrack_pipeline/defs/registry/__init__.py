"""The experiment registry and metric catalog as warehouse tables."""
