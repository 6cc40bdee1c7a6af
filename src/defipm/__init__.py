"""defipm: run crypto portfolios on decentralized exchanges."""
