"""Order status notifications: which message a change causes, sent once by email or SMS."""
