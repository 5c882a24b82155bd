build-exp/src/notify/webhook.o: src/notify/webhook.c src/notify/channel.h \
 src/http_client.h src/notify/notify.h src/config.h src/hashmap.h \
 src/notify/template.h src/util.h
src/notify/channel.h:
src/http_client.h:
src/notify/notify.h:
src/config.h:
src/hashmap.h:
src/notify/template.h:
src/util.h:
