build-exp/src/notify/dingtalk.o: src/notify/dingtalk.c \
 src/notify/channel.h src/http_client.h src/notify/notify.h src/config.h \
 src/hashmap.h src/notify/template.h src/util.h
src/notify/channel.h:
src/http_client.h:
src/notify/notify.h:
src/config.h:
src/hashmap.h:
src/notify/template.h:
src/util.h:
