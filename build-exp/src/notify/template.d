build-exp/src/notify/template.o: src/notify/template.c \
 src/notify/template.h src/config.h src/hashmap.h src/util.h
src/notify/template.h:
src/config.h:
src/hashmap.h:
src/util.h:
