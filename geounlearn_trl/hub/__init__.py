"""Model cards and the Hub push."""
