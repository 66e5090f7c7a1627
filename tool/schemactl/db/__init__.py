"""Where databases come from: URLs, the embedded server, throwaway databases."""
