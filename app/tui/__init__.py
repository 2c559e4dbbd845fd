"""The Textual app: screens call services in workers, never SQL."""
