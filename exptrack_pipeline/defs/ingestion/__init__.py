"""Ingestion of the landing zone (daily partitions)."""
