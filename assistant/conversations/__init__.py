"""The record of what staff asked and how they rated the answers: SQLite or PostgreSQL."""
