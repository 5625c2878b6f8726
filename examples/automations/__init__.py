"""Detectors that watch the Acme devices and command them back, through thinghub alone.

Device events reach an IoT Events input through a notification destination whose ARN names
the input; two detector models read it, keyed by managed thing id:

- ``device-heartbeat``: Online while a device keeps reporting, Offline after a quiet period;
- ``too-hot``: when a temperature sensor reads above 30 °C, its ``lambda`` action calls
  `handler.fan_high`, a local function (``[functions]``) that turns every fan of the same
  account association to High with SendManagedThingCommand.

`install.install` creates all of it with stock boto3 clients.
"""
