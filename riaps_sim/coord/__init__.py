"""Coordination protocols (membership, leader election, polls) as pure state machines."""
