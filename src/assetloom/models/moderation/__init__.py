"""Moderation: classifiers behind `models.base.Moderator` (registered in `registry`)."""
