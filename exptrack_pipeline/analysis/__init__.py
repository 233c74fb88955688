"""Pure analysis: turn sufficient-statistics frames into result frames through the statistics library."""
