"""The journeys' logic, kept out of the routes so that each stays short."""
