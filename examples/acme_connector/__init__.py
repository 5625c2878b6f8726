"""A reference cloud-to-cloud connector for the Acme cloud (examples/acme_cloud).

- `handler.lambda_handler`: the connector function (AWS.ActivateUser, AWS.DiscoverDevices,
  AWS.SendCommand, AWS.DeactivateUser);
- `webhook.lambda_handler`: receives Acme's device-change webhooks, reports DEVICE_EVENTs;
- `mapping`: Acme device types <-> Matter clusters and attributes, both directions;
- `vendor`: the Acme API client; `events`: SendConnectorEvent through boto3.

Standard library and boto3 only, and relative imports only, so the package deploys to AWS
Lambda as it is (zip the ``acme_connector`` directory).
"""
