build-exp/src/notify/wecom.o: src/notify/wecom.c src/notify/channel.h \
 src/http_client.h src/notify/notify.h src/config.h src/hashmap.h \
 src/notify/template.h src/util.h
src/notify/channel.h:
src/http_client.h:
src/notify/notify.h:
src/config.h:
src/hashmap.h:
src/notify/template.h:
src/util.h:
