"""Load tests: Locust users and an open-workload shape replaying the model's arrivals."""
