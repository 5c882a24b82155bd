build-exp/src/config.o: src/config.c src/config.h src/hashmap.h \
 src/adapter.h src/event.h src/notify/template.h src/util.h
src/config.h:
src/hashmap.h:
src/adapter.h:
src/event.h:
src/notify/template.h:
src/util.h:
