"""The data the pipeline runs on without anyone's real data: the seeded demo company and the public Maven sample."""
