"""Channel sync's two functions: stock changes -> push orders (fanout), orders -> channels (push)."""
