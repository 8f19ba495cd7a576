"""The site: the file admins publish (:mod:`.file`), choosing and identifying an installation
(:mod:`.installations`), and :func:`.locate.locate`, the one entrance every command takes."""
