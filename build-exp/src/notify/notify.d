build-exp/src/notify/notify.o: src/notify/notify.c src/notify/notify.h \
 src/config.h src/hashmap.h src/notify/template.h src/http_client.h \
 src/jsonw.h src/notify/channel.h src/util.h
src/notify/notify.h:
src/config.h:
src/hashmap.h:
src/notify/template.h:
src/http_client.h:
src/jsonw.h:
src/notify/channel.h:
src/util.h:
