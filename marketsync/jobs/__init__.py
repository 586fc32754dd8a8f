"""Dramatiq broker and actors (thin), and the APScheduler jobs that only send messages."""
