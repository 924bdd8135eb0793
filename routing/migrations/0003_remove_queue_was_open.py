# Queue.was_open was never read: the timer sweep routes every open queue on each pass.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0002_supervise_and_missed_offers"),
    ]

    operations = [
        migrations.RemoveField(
            model_name="queue",
            name="was_open",
        ),
    ]
