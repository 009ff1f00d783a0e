"""The registry: district domains and numbers, approved platforms, official social accounts."""
