build-exp/src/notify/channel.o: src/notify/channel.c src/notify/channel.h \
 src/http_client.h src/notify/notify.h src/config.h src/hashmap.h \
 src/notify/template.h src/util.h
src/notify/channel.h:
src/http_client.h:
src/notify/notify.h:
src/config.h:
src/hashmap.h:
src/notify/template.h:
src/util.h:
