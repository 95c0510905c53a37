"""What every app's DRF API shares: strict serializers, problem details, the schema."""
