"""The AWS wire protocol: knows nothing about IoT."""
