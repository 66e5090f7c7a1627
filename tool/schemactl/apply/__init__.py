"""Apply: bring real databases to the migrations' head safely, and keep migration files honest."""
