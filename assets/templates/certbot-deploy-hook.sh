#!/bin/sh
# Written by mattermost-setup: after certbot renews the certificate of {{domain}},
# reload {{proxy_unit}} so it serves the new one. Other certificates are left alone.
case " $RENEWED_DOMAINS " in
  *" {{domain}} "*) systemctl reload {{proxy_unit}} ;;
esac
